"""``agi-callback check``: an Asterisk configuration read as Asterisk would, and every mistake
about the Callback component that can be seen without a running Asterisk, with file:line."""
