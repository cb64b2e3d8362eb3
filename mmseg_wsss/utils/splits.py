# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Reading VOC split files."""
import os.path as osp
from collections import Counter
from typing import List, Optional, Sequence

import mmengine.fileio as fileio

# Names are listed only up to this many in messages about many files.
MAX_NAMES_SHOWN = 10


def show_names(names: Sequence[str]) -> str:
    """Format a possibly long list of names for an error or a warning."""
    shown = ', '.join(names[:MAX_NAMES_SHOWN])
    if len(names) > MAX_NAMES_SHOWN:
        shown += f', ... ({len(names)} in total)'
    return shown


def image_name(img_path: str) -> str:
    """The name of an image, as split files list it and as its outputs are
    called: the file name without folder and extension."""
    return osp.splitext(osp.basename(img_path))[0]


def read_split_names(path: str,
                     img_suffix: str = '.jpg',
                     backend_args: Optional[dict] = None) -> List[str]:
    """Image names of a VOC split file.

    The name is the first field of each line without folder or
    ``img_suffix``, so DeepLab/IRN-style lines
    (``/JPEGImages/x.jpg /SegmentationClassAug/x.png``) work too; blank
    lines are skipped and CRLF line ends tolerated.

    Args:
        path (str): Path of the split file.
        img_suffix (str): Suffix removed from names. Defaults to '.jpg'.
        backend_args (dict, optional): mmengine file backend arguments.
            Defaults to None.

    Returns:
        list[str]: Names in file order.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: The file lists no image, or an image more than once.
    """
    if not fileio.exists(path, backend_args=backend_args):
        raise FileNotFoundError(f'split file {path} not found')
    names = []
    for line in fileio.get_text(path, backend_args=backend_args).splitlines():
        fields = line.split()
        if fields:
            name = osp.basename(fields[0])
            if img_suffix and name.endswith(img_suffix):
                name = name[:-len(img_suffix)]
            names.append(name)
    if not names:
        raise ValueError(f'split file {path} lists no image')
    dups = sorted(n for n, count in Counter(names).items() if count > 1)
    if dups:
        raise ValueError(f'split file {path} lists these images more than '
                         f'once: {show_names(dups)}')
    return names
