# The compiled engine, when a build matching the sources is there (playground/accel.py).
from playground import accel

accel.install()
