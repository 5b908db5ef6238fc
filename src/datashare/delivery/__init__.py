"""Delivery (step 4 of the process): the encrypted package store and the SFTP server.

``sftpd`` is the server and imports no Django (its accounts come through a ``Backend``).
"""
