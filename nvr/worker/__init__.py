"""The camera worker process: main stream remuxed to segments, sub stream decoded to the ring."""
