"""The service layer the Streamlit pages call: one module per page concern, no Streamlit."""
