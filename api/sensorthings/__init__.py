"""A read-only OGC SensorThings API 1.1 view (https://docs.ogc.org/is/18-088/18-088.html)
of the registry and the readings: ``routes`` (the /sta/v1.1 paths), ``query`` (the
options served, parsed strictly), ``entities`` (registry entities), ``observations``
(readings from InfluxDB) and ``resolve`` (answers, links, paging, $expand)."""
