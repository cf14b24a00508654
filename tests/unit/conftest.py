"""The unit tests' local Spark (tests/unit/test_spark_semantics.py, test_alert_rule.py): one session for all."""
import pytest
from pyspark.sql import SparkSession


@pytest.fixture(scope="session")
def spark():
    existing = SparkSession.getActiveSession()
    session = (SparkSession.builder
               .master("local[1]")
               .appName("unit-tests")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "1")
               .config("spark.sql.session.timeZone", "UTC")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    if existing is None:  # leave a session another test started alone
        session.stop()


@pytest.fixture(params=["codegen", "interpreted"])
def engine(request, spark):
    """Run a test with generated code, then with the interpreted expressions."""
    codegen = request.param == "codegen"
    spark.conf.set("spark.sql.codegen.wholeStage", str(codegen).lower())
    spark.conf.set("spark.sql.codegen.factoryMode", "CODEGEN_ONLY" if codegen else "NO_CODEGEN")
    yield spark
    spark.conf.unset("spark.sql.codegen.wholeStage")
    spark.conf.unset("spark.sql.codegen.factoryMode")
