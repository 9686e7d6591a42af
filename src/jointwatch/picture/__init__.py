"""The vessel picture: positions and static data out of decoded AIS, vessel state, flags,
ship types and the Parquet position archive.

Submodules are imported directly (``from jointwatch.picture.vessels import VesselPicture``)
so that a caller needing only the MID table does not pay for pyarrow.
"""
