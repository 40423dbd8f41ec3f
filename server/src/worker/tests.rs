//! Tests of the worker actor against real PTYs.
