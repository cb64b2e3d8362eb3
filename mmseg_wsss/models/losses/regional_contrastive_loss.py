# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Regional contrastive module (RCM): class prototypes and their loss.

SupportNet's pixel features and region mask give one prototype per image and
class (background included, index 0). Each image is trained against the
prototypes of the *other* images of the batch (leave-one-out), optionally
mixed with a FIFO memory of recent prototypes, so that an image never pulls
its pixels towards a summary of itself. MainNet's pixel features are then
classified against these prototypes by cosine similarity.

``C`` counts foreground classes; tensors indexed by class have ``K = C + 1``
entries.
"""
import copy
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

from ..utils.global_batch import mean_over_ranks
from ..utils.normalize import l2_normalize


def _compute_dtype(x: Tensor) -> torch.dtype:
    """Float32 for half-precision inputs, the input dtype otherwise."""
    return torch.promote_types(x.dtype, torch.float32)


def resize_label_map(mask: Tensor, size: Tuple[int, int]) -> Tensor:
    """Resize a label map by nearest neighbour, keeping its labels intact.

    Args:
        mask (Tensor): Integer label map, shape (N, H, W).
        size (tuple[int, int]): Output size ``(h, w)``.

    Returns:
        Tensor: Long label map of shape (N, h, w); unchanged (as long) when
        it already has that size.
    """
    if tuple(mask.shape[-2:]) == tuple(size):
        return mask.long()
    # Labels (<= 255) are exact in float32, so the round trip is lossless.
    resized = F.interpolate(
        mask[:, None].float(), size=tuple(size), mode='nearest')
    return resized[:, 0].long()


def class_prototypes(feats: Tensor, mask: Tensor,
                     num_classes: int) -> Tuple[Tensor, Tensor]:
    """One prototype per image and class from pixel features and a mask.

    ``P[n, k]`` is the L2-normalised sum of the features of the pixels of
    image ``n`` labelled ``k``; it is a zero vector and invalid when no pixel
    has ``k``. Labels outside ``0..num_classes`` (e.g. the ignore index)
    belong to no prototype. A mask of another size is resized to the
    features by nearest neighbour.

    Args:
        feats (Tensor): L2-normalised pixel features, shape (N, D, H, W).
        mask (Tensor): Region mask, shape (N, H, W): 0 background,
            1..C classes, anything else ignored.
        num_classes (int): Number of foreground classes ``C``.

    Returns:
        tuple[Tensor, Tensor]: ``protos`` of shape (N, C + 1, D) in the
        computation dtype (at least float32) and bool ``valid`` of shape
        (N, C + 1).
    """
    if mask.dim() != 3 or mask.shape[0] != feats.shape[0]:
        raise ValueError(
            'class_prototypes needs a mask of shape (N, H, W) matching feats '
            f'(N, D, H, W), got mask {tuple(mask.shape)} and feats '
            f'{tuple(feats.shape)}')
    mask = resize_label_map(mask, feats.shape[-2:])
    classes = torch.arange(num_classes + 1, device=mask.device)
    dtype = _compute_dtype(feats)
    with torch.autocast(device_type=feats.device.type, enabled=False):
        members = (mask[:, None] == classes[None, :, None, None]).to(dtype)
        sums = torch.einsum('nkhw,ndhw->nkd', members, feats.to(dtype))
        valid = members.flatten(2).sum(dim=2) > 0
        return F.normalize(sums, dim=2), valid


class PrototypeMemory(nn.Module):
    """A FIFO memory of the last ``size`` valid prototypes of each class.

    The memory lives in buffers, so it follows the module across devices and
    is saved in (and resumed from) checkpoints. Read it with
    :func:`leave_one_out_prototypes` *before* pushing the current batch with
    :meth:`update`, otherwise an image would see its own prototype.

    Args:
        num_classes (int): Number of foreground classes ``C``.
        dim (int): Prototype dimension ``D``.
        size (int): Prototypes kept per class (``Q``). Defaults to 5.

    Attributes:
        bank (Tensor): Stored prototypes, shape (C + 1, Q, D).
        filled (Tensor): Bool, which slots hold a prototype, shape (C + 1, Q).
        ptr (Tensor): Long, the next slot to overwrite per class, (C + 1,).
    """

    def __init__(self, num_classes: int, dim: int, size: int = 5) -> None:
        super().__init__()
        if size < 1:
            raise ValueError(
                f'PrototypeMemory needs size >= 1, got size={size}; pass '
                'memory=None to leave_one_out_prototypes for no memory')
        self.size = size
        self.register_buffer('bank', torch.zeros(num_classes + 1, size, dim))
        self.register_buffer(
            'filled', torch.zeros(num_classes + 1, size, dtype=torch.bool))
        self.register_buffer('ptr',
                             torch.zeros(num_classes + 1, dtype=torch.long))

    def extra_repr(self) -> str:
        """Extra repr."""
        num_slots, size, dim = self.bank.shape
        return f'num_classes={num_slots - 1}, dim={dim}, size={size}'

    @torch.no_grad()
    def update(self, protos: Tensor, valid: Tensor) -> None:
        """Push the valid prototypes of a batch, in image order.

        Args:
            protos (Tensor): Prototypes, shape (N, C + 1, D).
            valid (Tensor): Bool validity, shape (N, C + 1).
        """
        if protos.shape[1:] != self.bank.shape[::2] or \
                valid.shape != protos.shape[:2]:
            raise ValueError(
                'PrototypeMemory.update needs protos of shape (N, '
                f'{self.bank.shape[0]}, {self.bank.shape[2]}) and valid of '
                f'shape (N, {self.bank.shape[0]}), got protos '
                f'{tuple(protos.shape)} and valid {tuple(valid.shape)}')
        protos = protos.detach().to(self.bank.dtype)
        for img_protos, img_valid in zip(protos, valid):
            cls = img_valid.nonzero().squeeze(1)
            slot = self.ptr[cls]
            self.bank[cls, slot] = img_protos[cls]
            self.filled[cls, slot] = True
            self.ptr[cls] = (slot + 1) % self.size


def leave_one_out_prototypes(
        protos: Tensor,
        valid: Tensor,
        memory: Optional[PrototypeMemory] = None) -> Tensor:
    """Prototypes for each image from the other images of the batch.

    For image ``i`` and class ``k``: the L2-normalised mean of the valid
    ``P[j, k]`` with ``j != i``, together with the prototypes of ``k`` in
    ``memory``. A class with none of them is a zero vector.

    Args:
        protos (Tensor): Per-image prototypes, shape (N, C + 1, D).
        valid (Tensor): Bool validity, shape (N, C + 1).
        memory (PrototypeMemory, optional): Recent prototypes of earlier
            batches. Defaults to None.

    Returns:
        Tensor: Leave-one-out prototypes, shape (N, C + 1, D), in the
        computation dtype (at least float32).
    """
    num_imgs = protos.shape[0]
    if num_imgs < 2:
        raise ValueError(
            'leave_one_out_prototypes: leave-one-out needs batch >= 2 '
            f'images, got a batch of {num_imgs} (all DDP ranks with '
            "rcm_head.batch_scope='global', else one device); raise "
            'train_dataloader.batch_size')
    if valid.shape != protos.shape[:2]:
        raise ValueError(
            'leave_one_out_prototypes needs valid of shape (N, C + 1) = '
            f'{tuple(protos.shape[:2])}, got {tuple(valid.shape)}')
    dtype = _compute_dtype(protos)
    with torch.autocast(device_type=protos.device.type, enabled=False):
        protos = protos.to(dtype)
        others = 1 - torch.eye(num_imgs, dtype=dtype, device=protos.device)
        # weight[i, j, k]: whether P[j, k] counts for image i.
        weight = others[:, :, None] * valid[None].to(dtype)
        # Weighted sums, not total minus own, so that a class no other image
        # has is exactly zero instead of float residue normalised to noise.
        sums = torch.einsum('ijk,jkd->ikd', weight, protos)
        if memory is not None:
            if memory.bank.shape[::2] != protos.shape[1:]:
                raise ValueError(
                    'leave_one_out_prototypes: memory holds prototypes of '
                    f'shape ({memory.bank.shape[0]}, {memory.bank.shape[2]}) '
                    f'per image, protos have {tuple(protos.shape[1:])}')
            sums = sums + torch.einsum('kq,kqd->kd', memory.filled.to(dtype),
                                       memory.bank.to(dtype))[None]
        return F.normalize(sums, dim=2)


def memory_pushable(protos: Tensor,
                    valid: Tensor,
                    min_norm: float = 0.999) -> Tensor:
    """Which prototypes the memory of mode 'replace' takes.

    The authors' code keeps a prototype only when its norm exceeds 0.999,
    i.e. it is a unit vector: the class has pixels and their features do
    not sum to zero (all-zero features after a dead ReLU do).

    Args:
        protos (Tensor): Per-image prototypes, shape (N, C + 1, D).
        valid (Tensor): Bool validity, shape (N, C + 1).
        min_norm (float): Smallest norm kept (exclusive). Defaults to 0.999.

    Returns:
        Tensor: Bool (N, C + 1).
    """
    return valid & (protos.float().norm(dim=2) > min_norm)


def memory_prototypes(protos: Tensor, valid: Tensor,
                      memory: PrototypeMemory) -> Tuple[Tensor, Tensor]:
    """The prototypes of memory mode 'replace' (the authors' code).

    The batch's valid prototypes are pushed into a copy of ``memory`` (FIFO,
    image order; ``memory`` itself is unchanged), and per class the
    L2-normalised mean of what the copy holds replaces the prototypes of
    every image of the batch: no leave-one-out, an image's own prototype
    counts. A class the copy lacks is a zero vector.

    Args:
        protos (Tensor): Per-image prototypes, shape (N, C + 1, D).
        valid (Tensor): Bool, which of them to push, shape (N, C + 1)
            (:func:`memory_pushable`).
        memory (PrototypeMemory): Prototypes of earlier batches.

    Returns:
        tuple[Tensor, Tensor]: The prototypes (N, C + 1, D), the same for
        every image, in the computation dtype (at least float32), and bool
        (C + 1,), which classes the memory holds after the push.
    """
    pushed = copy.deepcopy(memory)
    pushed.update(protos, valid)
    dtype = _compute_dtype(protos)
    sums = torch.einsum('kq,kqd->kd', pushed.filled.to(dtype),
                        pushed.bank.to(dtype))
    mean = F.normalize(sums, dim=1)
    return mean[None].expand(protos.shape[0], -1, -1), pushed.filled.any(1)


def regional_contrastive_loss(feats: Tensor,
                              protos: Tensor,
                              target: Tensor,
                              tau: float = 0.5,
                              ignore_index: int = 255,
                              mask_absent: bool = False,
                              global_mean: bool = False) -> Tensor:
    """Pixel-to-prototype cross entropy on cosine similarities.

    Logits ``z[n, k, p] = cos(f[n, :, p], protos[n, k]) / tau``; cross entropy
    with ``target``, averaged over the pixels whose target is not
    ``ignore_index``. Prototypes are detached. A zero prototype (a class
    without one) has logit 0, unless ``mask_absent`` leaves it out of the
    softmax; then pixels whose target class has no prototype are ignored too.
    A target of another size is resized to the features by nearest neighbour.
    Without any valid pixel the loss is 0 and still part of the graph.

    With ``global_mean`` under DDP the mean runs over the valid pixels of
    all ranks: this rank's sum divided by the count averaged over the ranks
    (a constant), i.e. ``W x`` its share of the global mean, whose gradient
    DDP's average of the ranks' gradients then is.

    Args:
        feats (Tensor): Pixel features, shape (N, D, h, w); normalised here.
        protos (Tensor): Prototypes per image, shape (N, C + 1, D).
        target (Tensor): Region mask, shape (N, H, W): 0..C or
            ``ignore_index``.
        tau (float): Temperature. Defaults to 0.5.
        ignore_index (int): Target label to ignore. Defaults to 255.
        mask_absent (bool): Leave zero prototypes out of the softmax.
            Defaults to False.
        global_mean (bool): Average over the valid pixels of all DDP ranks
            (the same as False outside DDP). Defaults to False.

    Returns:
        Tensor: Scalar loss in the computation dtype (at least float32).
    """
    if protos.dim() != 3 or protos.shape[0] != feats.shape[0] or \
            protos.shape[2] != feats.shape[1]:
        raise ValueError(
            'regional_contrastive_loss needs protos of shape (N, C + 1, D) '
            f'for feats (N, D, h, w) = {tuple(feats.shape)}, got protos '
            f'{tuple(protos.shape)}')
    if target.dim() != 3 or target.shape[0] != feats.shape[0]:
        raise ValueError(
            'regional_contrastive_loss needs a target of shape (N, H, W) for '
            f'feats {tuple(feats.shape)}, got {tuple(target.shape)}')
    target = resize_label_map(target, feats.shape[-2:])
    dtype = _compute_dtype(feats)
    with torch.autocast(device_type=feats.device.type, enabled=False):
        feats = l2_normalize(feats.to(dtype), dim=1)
        protos = F.normalize(protos.detach().to(dtype), dim=2)
        logits = torch.einsum('ndhw,nkd->nkhw', feats, protos) / tau
        if mask_absent:
            absent = protos.abs().sum(dim=2) == 0
            # A finite fill keeps an image with no prototype at all NaN-free.
            logits = logits.masked_fill(absent[:, :, None, None],
                                        torch.finfo(dtype).min)
            known = target != ignore_index
            safe = torch.where(known, target, torch.zeros_like(target))
            target_absent = absent.gather(1, safe.flatten(1)).view_as(target)
            target = target.masked_fill(known & target_absent, ignore_index)
        loss = F.cross_entropy(
            logits, target, ignore_index=ignore_index, reduction='sum')
        num_valid = (target != ignore_index).sum().to(dtype)
        if global_mean:
            num_valid = mean_over_ranks(num_valid)
        # Summing then dividing avoids the 0 / 0 of an all-ignored batch:
        # the count is 0 only where the sum is.
        return loss / num_valid.clamp(min=1e-6)


@MODELS.register_module()
class RegionalContrastiveLoss(nn.Module):
    """Regional contrastive loss (RCM) on MainNet's pixel features.

    Args:
        tau (float): Softmax temperature. Defaults to 0.5.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        mask_absent_prototypes (bool): Leave classes without a prototype out
            of the softmax. Defaults to False.
        ignore_index (int): Target label to ignore. Defaults to 255.
        loss_name (str): Name of the loss item; it must contain ``loss`` to
            be summed into the total loss. Defaults to 'loss_rcm'.
    """

    def __init__(self,
                 tau: float = 0.5,
                 loss_weight: float = 1.0,
                 mask_absent_prototypes: bool = False,
                 ignore_index: int = 255,
                 loss_name: str = 'loss_rcm') -> None:
        super().__init__()
        if tau <= 0:
            raise ValueError(
                f'RegionalContrastiveLoss needs tau > 0, got tau={tau}')
        self.tau = tau
        self.loss_weight = loss_weight
        self.mask_absent_prototypes = mask_absent_prototypes
        self.ignore_index = ignore_index
        self._loss_name = loss_name

    def forward(self,
                feats: Tensor,
                protos: Tensor,
                target: Tensor,
                global_mean: bool = False) -> Tensor:
        """Weighted RCM loss.

        Args:
            feats (Tensor): Pixel features, shape (N, D, h, w).
            protos (Tensor): Prototypes per image, shape (N, C + 1, D).
            target (Tensor): Region mask, shape (N, H, W).
            global_mean (bool): See :func:`regional_contrastive_loss`.
                Defaults to False.

        Returns:
            Tensor: Scalar loss.
        """
        return self.loss_weight * regional_contrastive_loss(
            feats,
            protos,
            target,
            tau=self.tau,
            ignore_index=self.ignore_index,
            mask_absent=self.mask_absent_prototypes,
            global_mean=global_mean)

    def extra_repr(self) -> str:
        """Extra repr."""
        return (f'tau={self.tau}, '
                f'mask_absent_prototypes={self.mask_absent_prototypes}')

    @property
    def loss_name(self) -> str:
        """str: Name of the loss item in the loss dict."""
        return self._loss_name
