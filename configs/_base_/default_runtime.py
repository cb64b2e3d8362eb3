_base_ = 'mmseg::_base_/default_runtime.py'

# Registers mmseg-wsss' datasets, transforms, models and metrics into mmseg's
# registries, so stock mmseg/mmengine tools run our configs unchanged.
custom_imports = dict(imports=['mmseg_wsss'], allow_failed_imports=False)
