"""zhenggai-xls: 整改工作表格的模板、收集、校验与逐级汇总."""
from .errors import ConfigError, SpecError, ZhenggaiError
from .spec import Spec, find_spec, load_specs

__all__ = ["ConfigError", "Spec", "SpecError", "ZhenggaiError", "find_spec", "load_specs"]
__version__ = "0.1.0"
