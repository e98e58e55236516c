"""sotdemo: unsupervised harmonic parameter estimation with differentiable DSP and
Spectral Optimal Transport (Torres, Peeters, Richard, ICASSP 2024), as a library,
CLIs and a web app."""

__version__ = "0.2.0"
