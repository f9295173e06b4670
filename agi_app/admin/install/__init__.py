"""`agi-callback install-asterisk-config`: the component added to an existing Asterisk
configuration (text.py reads and edits configuration text, plan.py decides what to write,
apply.py writes it)."""
