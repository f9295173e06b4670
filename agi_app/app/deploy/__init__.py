"""Files to run the service on a server: the systemd unit and an example settings file."""
