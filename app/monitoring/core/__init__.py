"""The pipeline's pure core: what a row, a window, an alert and a valid config mean.

Nothing in this package touches Kafka, Spark, files or the clock, so every rule of the graded
contract can be tested in milliseconds. The shells (producer/, consumers/, jobs/, config_file.py,
cli.py) wire these functions to the world.
"""
