"""The cloudvol exception hierarchy.

Every exception raised on purpose by cloudvol derives from :class:`CloudVolError`.
The class names (and their second parents, ``ValueError``/``IndexError``) follow
CloudVolume's so that ``except AlignmentError`` or ``except ValueError`` written for
CloudVolume keeps catching the same failures.

Messages name what was wrong: the cloudpath, the chunk key, the bbox, the info field.
They never contain credentials.
"""

from __future__ import annotations


class CloudVolError(Exception):
    """Base class of every error cloudvol raises on purpose."""


# --- geometry and requests -------------------------------------------------


class AlignmentError(CloudVolError, ValueError):
    """A write or delete is not aligned to the chunk (or shard) grid, or shapes differ."""


class OutOfBoundsError(CloudVolError, ValueError):
    """A request reaches outside the volume bounds while ``bounded=True``."""


class SubvoxelVolumeError(CloudVolError, ValueError):
    """A request covers less than one voxel."""


class EmptyRequestException(CloudVolError, ValueError):
    """A request selects nothing (legacy name kept for CloudVolume users)."""


class DimensionError(CloudVolError):
    """An array has a number of dimensions the operation cannot take."""


class ScaleUnavailableError(CloudVolError, IndexError):
    """The requested mip level (by index or resolution) does not exist."""


# --- paths and formats -----------------------------------------------------


class UnsupportedProtocolError(CloudVolError, ValueError):
    """A cloudpath names a protocol cloudvol does not speak, or is malformed."""


class UnsupportedFormatError(CloudVolError):
    """A cloudpath names a format (``n5://``, ``zarr://``…) cloudvol cannot open."""


class UnsupportedCompressionType(CloudVolError, ValueError):
    """A transport compression cloudvol does not know (``compress=`` or stored data)."""


# --- info, provenance, redirects -------------------------------------------


class InfoError(CloudVolError):
    """A problem with a layer's ``info`` file."""


class InfoUnavailableError(InfoError):
    """The ``info`` file is missing or cannot be fetched."""


class InvalidInfoError(InfoError, ValueError):
    """The ``info`` file is present but malformed; the message names the field."""


class RedirectError(InfoError):
    """A problem while following ``info['redirect']``."""


class TooManyRedirects(RedirectError):
    """More redirects than ``max_redirects``."""


class CyclicRedirect(RedirectError):
    """The redirect chain loops."""


class ProvenanceError(CloudVolError, ValueError):
    """A provenance document does not validate."""


class SpecViolation(CloudVolError):
    """A sharding (or other) specification breaks the format's rules."""


# --- data -------------------------------------------------------------------


class EmptyVolumeException(CloudVolError):
    """A chunk inside the volume is missing and ``fill_missing`` is off."""


class EmptyFileException(CloudVolError):
    """A file that must exist is missing."""


class DecodingError(CloudVolError, ValueError):
    """Stored chunk bytes cannot be decoded (corrupt, truncated or the wrong size)."""


class EncodingError(CloudVolError, ValueError):
    """An array cannot be encoded with the layer's encoding."""


class CompressionError(CloudVolError):
    """Transport compression of an object failed."""


class DecompressionError(DecodingError):
    """Stored bytes are not valid for their transport compression (bad gzip/brotli)."""


class ReadOnlyException(CloudVolError):
    """A write to a read-only volume (HTTP source, redirected layer, locked mip)."""


class WriteLockAcquisitionError(CloudVolError):
    """A write lock could not be taken."""


class WriteLockReleaseError(CloudVolError):
    """A write lock could not be released."""


class SpatialIndexGapError(CloudVolError):
    """A spatial index does not cover the requested region."""


class UnsupportedGrapheneAPIVersionError(CloudVolError):
    """The graphene server speaks an API version cloudvol does not know."""


# --- storage ----------------------------------------------------------------


class StorageError(CloudVolError):
    """An object store failed in a way retries did not mend; names the key and store."""


class AuthenticationError(StorageError):
    """Credentials were refused or could not be found (never printed)."""


class UnsupportedStorageOperation(StorageError):
    """The store cannot do this (e.g. writing to ``http://``)."""


# --- meshes and skeletons (used by later features) --------------------------


class MeshMissingError(CloudVolError, ValueError):
    """A mesh manifest or fragment is missing."""


class MeshDecodeError(CloudVolError, ValueError):
    """Mesh bytes cannot be decoded."""


class SkeletonDecodeError(CloudVolError):
    """Skeleton bytes cannot be decoded."""


class SkeletonEncodeError(CloudVolError):
    """A skeleton cannot be encoded."""


class SkeletonTransformError(CloudVolError):
    """A skeleton's transform is malformed."""


class SkeletonUnassignedEdgeError(CloudVolError):
    """An edge refers to a vertex that does not exist."""


class SkeletonAttributeMixingError(CloudVolError):
    """Skeletons with different attribute definitions were merged."""


class DtypeMismatchError(CloudVolError, ValueError):
    """An array's dtype differs from the layer's ``data_type``."""


__all__ = [name for name, obj in list(globals().items()) if isinstance(obj, type)]
