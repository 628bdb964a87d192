"""The CronJob controller (`--controllers` name `cronjob`); see controller.py.

Kubernetes counterpart: pkg/controller/cronjob
"""

from controller_manager.cronjob.controller import CronJobController

__all__ = ["CronJobController"]
