"""Settings every test-bed service shares with the shipped `make serve` configuration."""

# The test bed's customers have fictional +1555 numbers, which belong to no region: the
# destination policy refuses them unless the admin allows the prefix, as the test bed does.
TESTBED_NUMBERS = ["+1555"]

# The members of queue support (asterisk_conf/queues.conf), the same on both Asterisks.
AGENTS = ("PJSIP/agent1", "PJSIP/agent2", "PJSIP/agent3")
