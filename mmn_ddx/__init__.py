"""mmn_ddx"""
