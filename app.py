"""Launch the sotdemo web app: `python app.py [--host 127.0.0.1] [--port 7860] ...` (the same as `sotdemo app`).

The launcher lives in `sotdemo.serve`, so an installed package (`pip install .`) has it too;
this file is the Hugging Face Space's and a clone's entry point."""

from sotdemo.serve import launch_options, main, parse_args

__all__ = ["launch_options", "main", "parse_args"]

if __name__ == "__main__":
    main()
