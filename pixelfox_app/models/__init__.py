"""The control app's data model (tortoise-orm). Paths stored here are always pool-relative."""

from .albums import Album, AlbumImage
from .copies import CopyState, ImageCopy
from .guests import GuestUpload
from .images import Image, ImageState, ImageVariant, UploadSession, UploadSessionState
from .moves import Move, MoveItem, MoveItemState, MoveState
from .settings import Setting
from .storage import NodeState, PoolTier, PoolType, StorageNode, StoragePool
from .users import ApiToken, Invite, User, UserSession
from .visibility import Visibility

__all__ = [
    "Album",
    "AlbumImage",
    "ApiToken",
    "CopyState",
    "GuestUpload",
    "Image",
    "ImageCopy",
    "ImageState",
    "ImageVariant",
    "Invite",
    "Move",
    "MoveItem",
    "MoveItemState",
    "MoveState",
    "NodeState",
    "PoolTier",
    "PoolType",
    "Setting",
    "StorageNode",
    "StoragePool",
    "UploadSession",
    "UploadSessionState",
    "User",
    "UserSession",
    "Visibility",
]
