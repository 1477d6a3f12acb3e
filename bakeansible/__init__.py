"""bakeansible: bake machine images the way Packer does, with Ansible as the provisioner."""

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
