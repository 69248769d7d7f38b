"""`jr`: the hub's command line for host agents and people, talking to the server over HTTP.

Exit codes: 0 success, 1 the server answered an error (or a run ended in error), 2 usage error,
3 the server could not be reached. `--json` prints only JSON on stdout: `{"kind", "version": 1, "data"}`.
"""
