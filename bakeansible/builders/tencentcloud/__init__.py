"""The ``tencentcloud-cvm`` builder: bakes a CVM image the way Packer's builder did, fixed.

Import the pieces you need from their modules (``builder``, ``config``, ``client``,
``inventory``); nothing is imported here so that loading the package stays free.
"""
