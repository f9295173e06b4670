# Asterisk for the queue-callback service, equivalent to the Asterisk of
# docker/sandbox (the tested setup for machines without a Docker engine).
#
# The configuration is not baked in: docker/compose.yaml mounts the repo's
# asterisk_conf/ read-only as /etc/asterisk, sounds/callback/ as
# /usr/share/asterisk/sounds/en/callback, sounds/es/callback/ (Spanish) as
# /usr/share/asterisk/sounds/es/callback and sounds/placeholder/ (silence for
# placeholders) as /usr/share/asterisk/sounds/callback-placeholder, and
# docker/secrets/ (AMI secrets, agents' SIP passwords) as /etc/callback-secrets.
# The test bed (tests/asterisk_conf/ at /etc/callback-testbed) is not mounted by
# default: the shipped configuration #tryincludes it and carries on without it.
#
# asterisk_conf/asterisk.conf names the x86_64 module directory, so build and
# run it for linux/amd64.  Build from the repo root:
#   docker build --platform linux/amd64 -f docker/asterisk.Dockerfile -t agi-callback-asterisk .
FROM debian:sid-slim

# Keep this package list the same as PACKAGES in docker/sandbox.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        asterisk asterisk-core-sounds-en-gsm \
 && rm -rf /var/lib/apt/lists/*

# asterisk-core-sounds-en-gsm puts the prompts in sounds/en_US_f_Allison; the
# "en" link to it comes from asterisk-core-sounds-en, which is only a
# recommendation, so make the link here if it is missing.  Then create the
# mount points for the repo's prompts, and the run directory (made by
# systemd-tmpfiles on a normal Debian host, which a container lacks).
RUN cd /usr/share/asterisk/sounds \
 && if [ ! -e en ] && [ -d en_US_f_Allison ]; then ln -s en_US_f_Allison en; fi \
 && mkdir -p /usr/share/asterisk/sounds/en/callback \
        /usr/share/asterisk/sounds/callback-placeholder \
        /usr/share/asterisk/sounds/es/callback \
 && install -d -o asterisk -g asterisk /run/asterisk

# SIP UDP 5060 and AMI 5038; compose uses the host network, so these are
# informational only.
EXPOSE 5060/udp 5038/tcp

# Foreground, dropping root for the asterisk user, as docker/sandbox starts it.
CMD ["/usr/sbin/asterisk", "-f", "-U", "asterisk", "-G", "asterisk"]
