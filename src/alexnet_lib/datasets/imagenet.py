"""ImageNet's layout and photographs: the official validation folder sorted into class
folders, Tiny ImageNet (found or downloaded, its validation folder sorted), and sample photographs.
"""

from __future__ import annotations

import csv
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .downloads import image_release
from .policy import ENV_VAR, DataDamaged, DataNotFound, _where, search_roots

__all__ = [
    "TINY_IMAGENET_BYTES",
    "TINY_IMAGENET_SHA256",
    "TINY_IMAGENET_URL",
    "PhotoSet",
    "load_imagenet_samples",
    "load_tiny_imagenet",
    "sort_imagenet_val",
]



def _read_val_labels(labels_file: Path) -> dict[str, str]:
    """``{file name: wnid}`` from "name wnid" lines or Kaggle's LOC_val_solution.csv."""
    labels: dict[str, str] = {}
    for number, line in enumerate(labels_file.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.lower().startswith("imageid,"):
            continue
        if "," in line:  # ILSVRC2012_val_00000001,n01751748 ... (boxes follow the wnid)
            name, rest = line.split(",", 1)
            wnid = rest.split()[0] if rest.split() else ""
            name += ".JPEG"
        else:  # "name wnid", or Tiny ImageNet's "name wnid x0 y0 x1 y1" (a box follows)
            parts = line.split()
            if len(parts) not in (2, 6):
                raise ValueError(f"{labels_file}:{number}: expected 'file_name wnid', got {line!r}")
            name, wnid = parts[:2]
        if not (wnid.startswith("n") and wnid[1:].isdigit()):
            raise ValueError(f"{labels_file}:{number}: {wnid!r} is not a WordNet id such as n01440764")
        labels[Path(name).name] = wnid
    return labels


def sort_imagenet_val(val_dir: str | os.PathLike[str], labels_file: str | os.PathLike[str], *,
                      copy: bool = False) -> dict[str, int]:
    """Move (or copy) the official flat ``ILSVRC2012_val_*.JPEG`` files into ``val_dir/<wnid>/``.

    ``labels_file`` gives each file's class as lines ``ILSVRC2012_val_00000001.JPEG n01751748``,
    or is Kaggle's ``LOC_val_solution.csv`` (``ImageId,PredictionString``). Files already
    sorted are left alone, so running it twice is safe. Returns ``{wnid: images}``.
    """
    val_dir, labels_file = Path(val_dir), Path(labels_file)
    if not val_dir.is_dir():
        raise FileNotFoundError(f"{val_dir} is not a folder")
    labels = _read_val_labels(labels_file)
    flat = sorted(p for p in val_dir.iterdir() if p.is_file() and p.suffix.lower() in (".jpeg", ".jpg", ".png"))
    missing = [p.name for p in flat if p.name not in labels]
    if missing:
        raise ValueError(f"{labels_file} has no label for {len(missing)} file(s) in {val_dir}, e.g. {missing[0]}; "
                         "is it the labels file of this validation set?")
    counts: dict[str, int] = {}
    for path in flat:
        wnid = labels[path.name]
        (val_dir / wnid).mkdir(exist_ok=True)
        (shutil.copy2 if copy else shutil.move)(str(path), str(val_dir / wnid / path.name))
        counts[wnid] = counts.get(wnid, 0) + 1
    return counts


# --- Tiny ImageNet ----------------------------------------------------------------

# Tiny ImageNet: an archive of JPEG files in ImageNet's layout, its validation images in one
# flat folder. SHA-256 and size as listed in TensorFlow Datasets' checksum file
# (url_checksums/tiny_imagenet.txt); data/SHA256SUMS repeats them.
TINY_IMAGENET_URL = "http://cs231n.stanford.edu/tiny-imagenet-200.zip"
TINY_IMAGENET_SHA256 = "6198c8ae015e2b3e007c7841da39ec069199b9aa3bfa943a462022fe5e43c821"
TINY_IMAGENET_BYTES = 248_100_043


def load_tiny_imagenet(*, root: str | os.PathLike[str] | None = None, download_ok: bool = True,
                       progress: bool = True) -> Path:
    """Tiny ImageNet: 200 ImageNet classes at 64x64 pixels, 100,000 training and 10,000 validation images.

    Found or downloaded (248 MB, SHA-256 checked) like :func:`load_imagenette`. The release
    keeps its validation images in one flat folder with a table of labels; they are sorted
    into ``val/<wnid>/`` (:func:`sort_imagenet_val`) while the archive is unpacked, before the
    folder is put in place, so the returned folder always has ImageNet's layout. Its
    ``test/`` images have no public labels.
    """
    def sort_val(staging: Path) -> None:
        val = staging / "tiny-imagenet-200" / "val"
        flat, table = val / "images", val / "val_annotations.txt"
        if flat.is_dir():
            for image in flat.iterdir():
                shutil.move(str(image), str(val / image.name))
            flat.rmdir()
            sort_imagenet_val(val, table)

    return image_release("tiny-imagenet-200", TINY_IMAGENET_URL, TINY_IMAGENET_SHA256, TINY_IMAGENET_BYTES,
                          "Tiny ImageNet", root, download_ok, progress, finish=sort_val)


# --- ImageNet photographs ----------------------------------------------------------


@dataclass(frozen=True)
class PhotoSet:
    """Photographs of different sizes, with their ImageNet classes where known.

    Attributes:
        images: list of ``(H, W, 3)`` uint8 arrays.
        labels: ImageNet class index of each photo (0-999), or -1 where unknown.
        names: a short name for each photo (its class name, or what it shows).
        source: what was loaded and from where, in words (print it).
    """

    images: list[np.ndarray]
    labels: np.ndarray
    names: tuple[str, ...]
    source: str

    def __len__(self) -> int:
        return len(self.images)


_SKIMAGE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry")


def load_imagenet_samples(root: str | os.PathLike[str] | None = None, *, limit: int | None = None,
                          fallback_ok: bool = False) -> PhotoSet:
    """Real ImageNet photographs: the folder ``imagenet_samples/`` (with ``labels.csv``) in a data root.

    Looked for in :func:`search_roots`. Where it is not found, ``fallback_ok=True``
    returns scikit-image's few sample photographs instead (embedded, no labels) and says
    so in ``source``; otherwise :class:`DataNotFound` names the fix.
    """
    roots = search_roots(root)
    for folder in roots:
        table = folder / "imagenet_samples" / "labels.csv"
        if table.is_file():
            try:
                with open(table, newline="") as f:
                    rows = list(csv.DictReader(f))[:limit]
                images = []
                for row in rows:
                    with Image.open(table.parent / row["filename"]) as img:
                        images.append(np.array(img.convert("RGB")))
                labels = np.array([int(r["class_index"]) for r in rows], dtype=np.int64)
                names = tuple(r["class_name"].replace("_", " ") for r in rows)
            except (OSError, KeyError, ValueError, TypeError, AttributeError, csv.Error, SyntaxError) as err:
                raise DataDamaged(f"{table.parent} cannot be read ({type(err).__name__}: {err}): labels.csv needs the "
                                  "columns filename,wnid,class_index,class_name and every photo it names") from None
            return PhotoSet(images, labels, names, f"{len(images)} ImageNet photographs from {table.parent.name}/")
    where = _where(roots)
    if not fallback_ok:
        raise DataNotFound(f"imagenet_samples/labels.csv is not in {where}. Set {ENV_VAR} to the folder that "
                           "holds imagenet_samples/ (a folder of JPEG photos with a labels.csv of "
                           "filename,wnid,class_index,class_name).")
    from skimage import data as skdata

    names = _SKIMAGE_PHOTOS[:limit]
    images = []
    for name in names:
        img = np.asarray(getattr(skdata, name)())
        images.append(np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img[..., :3])
    return PhotoSet(images, np.full(len(images), -1), names,
                    f"imagenet_samples/ is not in the data folders ({ENV_VAR}, the book's data/): showing "
                    f"scikit-image's {len(images)} sample "
                    "photographs instead (embedded; not ImageNet, no labels)")
