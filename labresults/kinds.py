"""The names of labresults' kinds of durable work (outbox): registered in LabresultsConfig.ready
by the services that perform them."""

INBOUND = "labresults.inboundmessage"
ORDER = "labresults.labordermessage"
IMAGING = "labresults.dicomobject"
