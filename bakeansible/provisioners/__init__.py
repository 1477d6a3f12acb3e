"""Provisioners: configure a running instance over its communicator."""
