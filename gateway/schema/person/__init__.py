"""A customer (individual or company): the type, their profile mutations."""
