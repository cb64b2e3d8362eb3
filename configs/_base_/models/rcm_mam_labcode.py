# The method's parts as the authors' code set them (docs/method.md, "[lab
# code]"); everything else as rcm_mam.py (EMA 0.996, MAM on half the batch,
# tau 0.5, D = 256, loss weights 1, 1, 1, the support scales).
_base_ = './rcm_mam.py'
rcm_mam = dict(
    rcm_head=dict(
        # one threshold, 0.3: below background, above the argmax class, no
        # ignore band (rcm_mam.py: (0.3, 0.5), another script of theirs)
        region_thrs=(0.3, 0.3),
        # per class the mean of the last 5 prototypes (norm > 0.999, the
        # batch's pushed first) replaces the batch prototypes for the whole
        # batch (rcm_mam.py: 'add', leave-one-out plus the memory)
        memory_mode='replace'))
