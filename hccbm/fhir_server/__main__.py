from hccbm.fhir_server.cli import app

app(prog_name="hccbm fhir-server")
