"""Small stores under the domain: files on disk, key-values, leases, the NocoDB
change queue, and the one conversion of database rows into views.
"""
