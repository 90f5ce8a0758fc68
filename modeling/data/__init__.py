"""Data shipped with the package: facts, vocabulary and demonstrations for the default policy."""
