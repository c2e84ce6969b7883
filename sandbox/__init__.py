"""Agency sandbox: a local stand-in for the Dukcapil, LAKSA, queue, health and tax APIs.

Start it with `uvicorn sandbox.app:create_app --factory --port 8100`; see docs/sandbox.md.
"""
