"""Operations: scheduled cycles (:mod:`.cycle`), the cron line / systemd timer (:mod:`.schedule`) and
alerts (:mod:`.alerts`). The rollout monitor they run lives with the rollout, in
:mod:`workbench.lifecycle.watch`; the MLflow export in :mod:`workbench.tracking`."""
