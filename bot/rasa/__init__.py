"""Code that runs inside the Rasa server process (loaded through ``endpoints.yml``).

Everything here changes how Rasa itself behaves, so it is the riskiest code we have: each module
installs its changes with one explicit call, checks what it patches and keeps ``__wrapped__``.
"""
