"""Asterisk as the service reaches it: the AMI link (ami), AMI event filters as manager.conf
reads them (event_filters), and the queue_log file (queue_log).

May import: domain, config.
"""
