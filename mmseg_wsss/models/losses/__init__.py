# Copyright (c) mmseg-wsss contributors. All rights reserved.
from .affinity_loss import AffinityLoss, affinity_loss
from .multilabel_soft_margin_loss import (MultiLabelSoftMarginLoss,
                                          multilabel_soft_margin_loss)
from .multiscale_attentive_loss import (MultiScaleAttentiveLoss, mam_targets,
                                        multiscale_attentive_loss)
from .recam_sce_loss import ReCAMSCELoss, recam_accuracy, recam_sce_loss
# yapf: disable
from .regional_contrastive_loss import (PrototypeMemory,
                                        RegionalContrastiveLoss,
                                        class_prototypes,
                                        leave_one_out_prototypes,
                                        regional_contrastive_loss,
                                        resize_label_map)

# yapf: enable

__all__ = [
    'MultiLabelSoftMarginLoss', 'multilabel_soft_margin_loss',
    'MultiScaleAttentiveLoss', 'mam_targets', 'multiscale_attentive_loss',
    'PrototypeMemory', 'RegionalContrastiveLoss', 'class_prototypes',
    'leave_one_out_prototypes', 'regional_contrastive_loss',
    'resize_label_map', 'AffinityLoss', 'affinity_loss', 'ReCAMSCELoss',
    'recam_sce_loss', 'recam_accuracy'
]
