"""One routes module per REST resource, mirroring ``/v1`` paths; all call the service layer."""
