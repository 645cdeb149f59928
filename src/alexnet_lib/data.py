"""The paper's data augmentation (section 4.1), as transforms on image tensors.

:class:`PCALighting` is the paper's second form of augmentation, "altering the
intensities of the RGB channels": to every pixel of an image add the same offset
``[p1, p2, p3] @ [a1 * l1, a2 * l2, a3 * l3]``, where ``p_i`` and ``l_i`` are the
eigenvectors and eigenvalues of the 3x3 covariance of RGB pixel values over the
training set, and each ``a_i`` is drawn from N(0, 0.1) once per image.
:func:`rgb_pca` computes ``l`` and ``p`` from a set of images.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["PCALighting", "rgb_pca"]


def rgb_pca(images) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvalues (descending) and eigenvectors (columns) of the RGB pixel covariance.

    Args:
        images: ``(N, H, W, 3)`` or ``(N, 3, H, W)`` array or tensor; uint8 values are
            scaled to [0, 1] first.

    Returns:
        ``(eigval (3,), eigvec (3, 3))``, float32, ``eigvec[:, i]`` belonging to ``eigval[i]``.
    """
    x = torch.as_tensor(np.asarray(images) if not isinstance(images, torch.Tensor) else images)
    if x.dtype == torch.uint8:
        x = x.float() / 255
    x = x.double()
    if x.dim() != 4 or 3 not in (x.shape[1], x.shape[-1]):
        raise ValueError(f"images must be (N, H, W, 3) or (N, 3, H, W), got {tuple(x.shape)}")
    pixels = x.permute(0, 2, 3, 1).reshape(-1, 3) if x.shape[1] == 3 and x.shape[-1] != 3 else x.reshape(-1, 3)
    covariance = torch.cov(pixels.T)
    eigval, eigvec = torch.linalg.eigh(covariance)  # ascending
    order = torch.argsort(eigval, descending=True)
    return eigval[order].float(), eigvec[:, order].float()


class PCALighting:
    """Add a random multiple of the RGB principal components to a whole image.

    Args:
        alphastd: standard deviation of each ``a_i`` (the paper: 0.1). 0 leaves images unchanged.
        eigval: ``(3,)`` eigenvalues of the RGB covariance.
        eigvec: ``(3, 3)`` eigenvectors as columns.
        generator: a ``torch.Generator`` for reproducible draws (default: PyTorch's global one).

    Called on a float tensor ``(3, H, W)`` (or a batch ``(N, 3, H, W)``, one draw per
    image), it returns a new tensor; the input is not modified.
    """

    def __init__(self, alphastd: float, eigval, eigvec, generator: torch.Generator | None = None) -> None:
        if alphastd < 0:
            raise ValueError(f"alphastd must be >= 0 (the paper uses 0.1), got {alphastd}")
        self.alphastd = float(alphastd)
        self.eigval = torch.as_tensor(eigval, dtype=torch.float32).reshape(-1)
        self.eigvec = torch.as_tensor(eigvec, dtype=torch.float32)
        if self.eigval.shape != (3,) or self.eigvec.shape != (3, 3):
            raise ValueError(f"eigval must be (3,) and eigvec (3, 3), got {tuple(self.eigval.shape)} and "
                             f"{tuple(self.eigvec.shape)}")
        self.generator = generator

    def offset(self, n: int = 1) -> torch.Tensor:
        """``n`` random RGB offsets ``(n, 3)``, one per image."""
        alpha = torch.randn(n, 3, generator=self.generator) * self.alphastd
        return (alpha * self.eigval) @ self.eigvec.T

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        if not isinstance(img, torch.Tensor) or not img.is_floating_point():
            raise TypeError("PCALighting works on float tensors (C, H, W); convert uint8 images first "
                            "(e.g. torchvision.transforms.v2.ToDtype(torch.float32, scale=True))")
        if self.alphastd == 0:
            return img.clone()
        if img.dim() == 3 and img.shape[0] == 3:
            return img + self.offset(1).to(img)[0].view(3, 1, 1)
        if img.dim() == 4 and img.shape[1] == 3:
            return img + self.offset(img.shape[0]).to(img).view(-1, 3, 1, 1)
        raise ValueError(f"expected a (3, H, W) image or a (N, 3, H, W) batch, got {tuple(img.shape)}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(alphastd={self.alphastd})"
