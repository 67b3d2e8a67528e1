"""cdktf entry point (cdktf.json "app"): synthesize every environment in one process."""

from kfstack.cli import synth_main

if __name__ == "__main__":
    synth_main()
