"""Live rooms: runners that advance simulations and stream frames to websocket viewers."""
