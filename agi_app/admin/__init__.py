"""What an admin runs: the command line (cli and its *_command modules), `check` (check/),
`install-asterisk-config` (install/) and the component's files it installs (asterisk_files/).

May import: every other package (it is an entry point).
"""
