"""Fake Imgur, Flickr and Google Photos servers that follow contracts/destinations.md."""

from tests.fakes.control import FakeControl
from tests.fakes.faults import Fault, FaultKind, FaultPlan
from tests.fakes.flickr import FakeFlickr
from tests.fakes.gphotos import FakeGooglePhotos
from tests.fakes.imgur import FakeImgur
from tests.fakes.recording import RecordedRequest, RecordedUpload

__all__ = [
    "FakeControl",
    "FakeFlickr",
    "FakeGooglePhotos",
    "FakeImgur",
    "Fault",
    "FaultKind",
    "FaultPlan",
    "RecordedRequest",
    "RecordedUpload",
]
