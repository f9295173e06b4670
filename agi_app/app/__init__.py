"""The service as one process: its wiring and lifespan (service), each Asterisk server's parts
(asterisk_site), what the FastAGI scripts ask of serving here (local_serving), log lines
(log_format), systemd's notifications (sd_notify), and the unit and example settings (deploy/).

May import: every package below admin.
"""
