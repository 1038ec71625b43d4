"""``skimage.measure.label`` re-implemented with scipy.ndimage (scikit-image 0.26 semantics).

* Two pixels are connected when they are neighbours *and have the same value*; pixels
  equal to ``background`` (default 0) get label 0.
* ``connectivity`` is the maximum number of orthogonal hops (1 .. ndim; default ndim,
  i.e. 8-connectivity in 2-D).
* Labels are numbered 1..N in raster (C) order of each component's first pixel.
* dtype: ``int32`` for a bool image (scikit-image passes it straight to
  ``scipy.ndimage.label``); ``int64`` otherwise (scikit-image returns ``intp``, which is
  int64 on 64-bit platforms; we keep int64 on wasm32 too).
* Non-bool images are first cast to integers (floats truncate), and ``background`` too,
  as scikit-image's Cython code does.
"""

import numpy as np

__all__ = ["label"]


def _structure(ndim, connectivity):
    from scipy import ndimage
    if connectivity is None:
        connectivity = ndim
    if not 1 <= connectivity <= ndim:
        raise ValueError("Connectivity for {0}D image should be in [1, ..., {0}]. "
                         "Got {1}.".format(ndim, connectivity))
    return ndimage.generate_binary_structure(ndim, connectivity)


def _label_bool(image, background, return_num, connectivity):
    from scipy import ndimage
    if background == 1:
        image = ~image
    structure = _structure(image.ndim, connectivity)
    labels, num = ndimage.label(image, structure=structure)
    labels = labels.astype(np.int32, copy=False)
    if return_num:
        return labels, int(num)
    return labels


def label(label_image, background=None, return_num=False, connectivity=None):
    """Label connected regions of an integer (or bool) array, like
    ``skimage.measure.label``. Returns the label array, and the number of labels if
    ``return_num``."""
    from scipy import ndimage
    image = np.asarray(label_image)
    if image.dtype == np.bool_:
        return _label_bool(image, background, return_num, connectivity)
    if not 1 <= image.ndim <= 3:
        raise NotImplementedError("Only for images of dimension 1-3 are supported, got a "
                                  "{0}D one".format(image.ndim))
    data = image.astype(np.int64)
    bg = 0 if background is None else int(background)
    structure = _structure(data.ndim, connectivity)
    foreground = data != bg
    values = np.unique(data[foreground])
    if values.size <= 1:
        labels, num = ndimage.label(foreground, structure=structure)
        labels = labels.astype(np.int64)
        num = int(num)
    else:
        # same-value connectivity: label each value on its own, then renumber all
        # components in raster order of their first pixel
        labels = np.zeros(data.shape, dtype=np.int64)
        offset = 0
        for v in values.tolist():
            lab, n = ndimage.label(data == v, structure=structure)
            if n:
                sel = lab != 0
                labels[sel] = lab[sel].astype(np.int64) + offset
                offset += int(n)
        # np.unique gives each label's first (raster-order) position
        uniq, first = np.unique(labels.ravel(), return_index=True)
        keep = uniq != 0
        uniq = uniq[keep]
        order = np.argsort(first[keep], kind="stable")
        relabel = np.zeros(offset + 1, dtype=np.int64)
        relabel[uniq[order]] = np.arange(1, uniq.size + 1, dtype=np.int64)
        labels = relabel[labels]
        num = offset
    if return_num:
        return labels, num
    return labels
