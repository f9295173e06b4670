"""The FastAGI side: the server (fastagi), the AGI environment checked (environment), and the
dialogues a caller goes through: the request (request_dialogue), the number read-back
(readback), the choice of a later time (time_choice), the status check (status_check) and the
offer check (offer_check).

May import: domain, config, pbx, store, serving.
"""
