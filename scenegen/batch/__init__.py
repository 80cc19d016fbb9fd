"""Running many frames: plans, frame workers, engines (in-process, process pool, Ray)."""
