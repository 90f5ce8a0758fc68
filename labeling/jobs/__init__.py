"""What each kind of run does. A job trains or samples (outside any transaction, reporting progress)
and returns a ``register`` function that writes its results; the runner calls ``register`` in the
same transaction that marks the run succeeded, so a run either has all its outputs or none.

Jobs import ``modeling`` inside the function, so the web process never loads torch.
"""
